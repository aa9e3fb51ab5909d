"""LICENSE, CITATION.cff and CHANGELOG.md: present, well-formed and in step with mmavs.__version__."""
import datetime
import os.path as osp
import re

import pytest
import yaml

import mmavs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Keys CFF 1.2.0 requires at the top level and in each reference.
CFF_REQUIRED = ('cff-version', 'message', 'title', 'authors')
CFF_REFERENCE_REQUIRED = ('type', 'title', 'authors')
#: Top-level keys of the CFF 1.2.0 schema (it allows no others).
CFF_KEYS = {
    'abstract', 'authors', 'cff-version', 'commit', 'contact', 'date-released', 'doi', 'identifiers',
    'keywords', 'license', 'license-url', 'message', 'preferred-citation', 'references', 'repository',
    'repository-artifact', 'repository-code', 'title', 'type', 'url', 'version'
}


def _read(name: str) -> str:
    with open(osp.join(ROOT, name), encoding='utf-8') as f:
        return f.read()


@pytest.fixture(scope='module')
def cff() -> dict:
    # BaseLoader: every scalar stays a string, as CFF validators see it (no 0.1 -> float surprises).
    return yaml.load(_read('CITATION.cff'), Loader=yaml.BaseLoader)


def _check_authors(authors, where: str) -> None:
    assert isinstance(authors, list) and authors, where
    for person in authors:
        assert isinstance(person, dict), where
        # A person (family-names) or an entity (name).
        assert person.get('family-names') or person.get('name'), f'{where}: {person}'
        assert set(person) <= {'family-names', 'given-names', 'name', 'name-particle', 'name-suffix',
                               'affiliation', 'email', 'orcid', 'website', 'alias'}, person


def test_citation_cff_is_valid_cff_1_2_0(cff):
    for key in CFF_REQUIRED:
        assert cff.get(key), key
    assert cff['cff-version'] == '1.2.0'
    assert set(cff) <= CFF_KEYS, set(cff) - CFF_KEYS
    assert cff['type'] in ('software', 'dataset')
    _check_authors(cff['authors'], 'authors')
    for ref in cff.get('references', []):
        for key in CFF_REFERENCE_REQUIRED:
            assert ref.get(key), f'reference {ref.get("title")}: {key}'
        _check_authors(ref['authors'], f'reference {ref["title"]}')
        if 'year' in ref:
            assert re.fullmatch(r'\d{4}', ref['year'])
        for identifier in ref.get('identifiers', []):
            assert identifier['type'] in ('doi', 'url', 'swh', 'other') and identifier['value']
    if 'date-released' in cff:
        datetime.date.fromisoformat(cff['date-released'])


def test_citation_cff_describes_this_toolbox(cff):
    assert cff['version'] == mmavs.__version__
    assert cff['license'] == 'Apache-2.0'
    assert cff['title'].startswith('mmavs')
    (icf, ) = [r for r in cff['references'] if 'Counterfactual' in r['title']]
    assert icf['title'] == 'Implicit Counterfactual Learning for Audio-Visual Segmentation'
    assert icf['year'] == '2025'
    assert icf['authors'][0] == {'family-names': 'Zha', 'given-names': 'Mingfeng'}


def test_license_is_the_apache_2_0_text():
    text = _read('LICENSE')
    assert 'Apache License\n                           Version 2.0, January 2004' in text
    assert 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' in text
    assert 'END OF TERMS AND CONDITIONS' in text
    assert text.count('mmavs contributors') == 2  # the header and the appendix's notice
    assert '[name of copyright owner]' not in text
    # All nine sections of the terms.
    for n, title in enumerate(('Definitions', 'Grant of Copyright License', 'Grant of Patent License',
                               'Redistribution', 'Submission of Contributions', 'Trademarks',
                               'Disclaimer of Warranty', 'Limitation of Liability',
                               'Accepting Warranty or Additional Liability'), start=1):
        assert f'{n}. {title}.' in text, title


def test_changelog_has_unreleased_and_the_current_version():
    text = _read('CHANGELOG.md')
    versions = re.findall(r'^## \[([^\]]+)\]', text, flags=re.M)
    assert versions[0] == 'Unreleased'
    assert mmavs.__version__ in versions
    (date, ) = re.findall(rf'^## \[{re.escape(mmavs.__version__)}\] - (\S+)$', text, flags=re.M)
    datetime.date.fromisoformat(date)


def test_docs_cite_the_icf_paper_and_point_to_citation_cff(cff):
    icf = _read(osp.join('docs', 'icf.md'))
    citation = icf[icf.index('\n## Citation\n'):]
    assert '@inproceedings{' in citation
    assert 'Implicit Counterfactual Learning for Audio-Visual Segmentation' in citation
    assert 'International Conference on Computer Vision (ICCV)' in citation
    assert re.search(r'year\s*=\s*\{2025\}', citation)
    # The same authors, in the same order, as the reference in CITATION.cff.
    authors = re.search(r'author\s*=\s*\{([^}]*)\}', citation).group(1)
    bib = ' '.join(authors.split()).split(' and ')
    (ref, ) = [r for r in cff['references'] if 'Counterfactual' in r['title']]
    assert bib == [f'{a["family-names"]}, {a["given-names"]}' for a in ref['authors']]
    readme = _read('README.md')
    assert '## Citation' in readme and '(CITATION.cff)' in readme and '(LICENSE)' in readme
