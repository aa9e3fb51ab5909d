"""The repository explains itself: every file it cites exists in it, and it cites no notes kept elsewhere."""
import os.path as osp
import re
import subprocess
from typing import List, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEXT_SUFFIXES = ('.py', '.md', '.sh', '.txt', '.cfg', '.toml', '.yaml', '.yml', '.cff')
#: A relative path into one of the repository's top-level folders, ending in a file suffix. Templates such as
#: ``configs/icl/icl_{pvt,r50}_s4.py`` or ``pretrained/<name>.pth`` stop at the brace / bracket and do not match.
PATH = re.compile(r'(?<![\w./-])((?:docs|tools|configs|mmavs|tests|requirements|\.ci)/[\w./-]*\w\.'
                  r'(?:py|md|sh|txt|json|yaml|yml|toml|cfg))(?![\w{<*])')
#: Names of notes that live outside the repository (a user of the repository does not have them).
OUTSIDE = re.compile(r'ICF_SPEC|ENVIRONMENT\.md|AVSBENCH_REFERENCE|ARCHITECTURE\.md|CONTRACT\.md|\.\./shared/|/work/')


def _tracked_text_files() -> List[str]:
    out = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = [f for f in out.splitlines() if f.endswith(TEXT_SUFFIXES) and osp.isfile(osp.join(REPO, f))]
    assert len(files) > 100  # the scan really reads the tree
    return files


def _references() -> List[Tuple[str, int, str]]:
    found = []
    for name in _tracked_text_files():
        with open(osp.join(REPO, name), encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                found.extend((name, line_no, m.group(1)) for m in PATH.finditer(line))
    return found


def test_every_cited_file_exists():
    refs = _references()
    assert any(ref == 'docs/icf.md' for _, _, ref in refs)  # the pattern finds real citations
    missing = [f'{name}:{line}: {ref}' for name, line, ref in refs
               if not osp.exists(osp.join(REPO, ref)) and not osp.exists(osp.join(REPO, osp.dirname(name), ref))]
    assert not missing, 'references to files that are not in the repository:\n' + '\n'.join(missing)


def test_no_reference_to_notes_outside_the_repository():
    this = osp.relpath(__file__, REPO)
    hits = []
    for name in _tracked_text_files():
        if name == this:
            continue
        with open(osp.join(REPO, name), encoding='utf-8') as f:
            hits.extend(f'{name}:{n}: {line.strip()[:100]}'
                        for n, line in enumerate(f, start=1) if OUTSIDE.search(line))
    assert not hits, 'citations of notes a user does not have:\n' + '\n'.join(hits)


@pytest.mark.parametrize('line,expected', [
    ('see docs/icf.md, M5', ['docs/icf.md']),
    ('`tools/model_converters/convert.py --family clip`', ['tools/model_converters/convert.py']),
    ('configs/icl/icl_{pvt,r50}_{s4,m3,avss}.py', []),
    ('pretrained/<name>.pth and work_dirs/x/epoch_4.pth', []),
    ('[docs](docs/get_started.md)', ['docs/get_started.md']),
])
def test_the_path_pattern(line, expected):
    assert [m.group(1) for m in PATH.finditer(line)] == expected
