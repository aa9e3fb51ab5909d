"""tools/analysis_tools/benchmark_inference.py on a small ICF model (MIT: the tool writes the captions)."""
import importlib.util
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_benchmark_times_every_clip_of_a_random_icf_model(capsys) -> None:
    path = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_inference.py')
    spec = importlib.util.spec_from_file_location('benchmark_inference', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    figures = tool.main([osp.join(REPO, 'configs/icl/icl_tiny_synthetic_s4.py'), '--clips', '2', '--warmup', '0',
                         '--size', '64x48', '--video-fps', '10'])
    out = capsys.readouterr().out
    assert 'ICFSegmentor' in out and 'random weights' in out
    assert '2 clip(s) timed after 0 warm-up clip(s)' in out and 'clips of 5 frames (5 s)' in out
    assert 0 < figures['per_clip_model'] <= figures['per_clip']
    assert f'seconds per clip: {figures["per_clip"]:.2f}' in out
