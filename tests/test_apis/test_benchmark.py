"""mmavs.apis.benchmark: part timer, inference / training split, FLOPs, pipeline throughput (a fake clock: no
timed assertions), and tools/analysis_tools/benchmark.py on a small config."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from torch import nn

from mmavs.apis.benchmark import PartTimer, flops_per_clip, pipeline_throughput, time_inference
from mmavs.apis.benchmark import data as data_module
from mmavs.apis.benchmark import model as model_module
from mmavs.apis.benchmark import parts as parts_module

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class FakeClock:
    """``perf_counter`` that only moves when a module says it worked."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    for module in (parts_module, model_module, data_module):
        monkeypatch.setattr(module.time, 'perf_counter', fake.perf_counter)
    return fake


class Costs(nn.Module):
    """Advances the fake clock by ``cost`` seconds per call; a 1x1 conv so that FLOPs can be counted."""

    def __init__(self, clock: FakeClock, cost: float, channels: int = 3) -> None:
        super().__init__()
        self.clock, self.cost = clock, cost
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.clock is not None:
            self.clock.now += self.cost
        return self.conv(x)


class Preprocessor(nn.Module):

    def forward(self, data: dict, training: bool = False) -> dict:
        return data


class ToySegmentor(BaseModel):
    """Named like an AVSSegmentor's children; costs per clip: audio 1, visual 3 (+ 0.5 between), neck 2 x 2."""

    def __init__(self, clock=None) -> None:
        super().__init__()
        self.data_preprocessor = Preprocessor()
        self.audio_backbone = Costs(clock, 1.0, channels=1)
        self.visual_backbone = Costs(clock, 3.0)
        self.neck = Costs(clock, 2.0)
        self.losses = nn.ModuleList([Costs(clock, 0.25), Costs(clock, 0.25)])
        self.clock = clock

    def forward(self, inputs, data_samples=None, mode='tensor'):
        frames = inputs['frames'].flatten(0, 1)  # [B*T, 3, H, W]
        audio = self.audio_backbone(inputs['audio'].flatten(0, 1))
        feat = self.visual_backbone(frames) + audio.mean()
        if self.clock is not None:
            self.clock.now += 0.5  # work of the segmentor itself, between the parts
        feat = self.neck(self.neck(feat))  # one part called twice
        if mode == 'loss':
            return {f'loss_{i}': loss(feat).mean() for i, loss in enumerate(self.losses)}
        return feat


def _batch(clips: int = 2, frames: int = 2, size: int = 4) -> dict:
    return dict(inputs=dict(frames=torch.randn(clips, frames, 3, size, size),
                            audio=torch.randn(clips, frames, 1, 96, 64)), data_samples=[None] * clips)


def test_part_timer_sums_calls_lists_present_parts_and_removes_its_hooks(clock):
    model = ToySegmentor(clock)
    with PartTimer(model, torch.device('cpu'), whole_forward=True) as timer:
        model(_batch()['inputs'])
        model(_batch()['inputs'])
    assert timer.parts == ['preprocessor', 'audio backbone', 'visual backbone', 'neck', 'losses']
    assert dict(timer.seconds) == {'audio backbone': 2.0, 'visual backbone': 6.0, 'neck': 8.0}
    assert timer.forward_seconds == 2 * (1 + 3 + 0.5 + 4)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_time_inference_per_clip_and_split(clock):
    model = ToySegmentor(clock)
    batches = [dict(_batch(clips=2)) for _ in range(4)]
    result = time_inference(model, batches, warmup=1, device=torch.device('cpu'))
    # one batch: 1 + 3 + 0.5 + 2 * 2 = 8.5 s for 2 clips (the part costs are per call, not per clip)
    assert result['per_clip_s'] == 4.25 and result['per_clip_mean_s'] == 4.25 and result['batches'] == 3
    assert result['parts'] == {'preprocessor': 0.0, 'audio backbone': 0.5, 'visual backbone': 1.5, 'neck': 2.0,
                               'losses': 0.0, 'other': 0.25}
    with pytest.raises(ValueError, match='more batches'):
        time_inference(model, batches[:1], warmup=1, device=torch.device('cpu'))


def test_time_train_step_backward_is_step_minus_forward(clock):
    model = ToySegmentor(clock)
    wrapper_cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    from mmengine.optim import build_optim_wrapper
    optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
    update = optim_wrapper.update_params

    def costly_update(loss, *args, **kwargs):  # backward + step cost 7 s on the fake clock
        clock.now += 7.0
        return update(loss, *args, **kwargs)

    optim_wrapper.update_params = costly_update
    result = model_module.time_train_step(model, optim_wrapper, [_batch() for _ in range(3)], 1, torch.device('cpu'))
    assert result['step_s'] == 1 + 3 + 0.5 + 4 + 0.5 + 7
    assert result['parts'] == {'preprocessor': 0.0, 'audio backbone': 1.0, 'visual backbone': 3.0, 'neck': 4.0,
                               'losses': 0.5, 'other': 0.5, 'backward + optimizer': 7.0}


def test_flops_per_clip_counts_the_parts_of_one_clip():
    model = ToySegmentor()
    flops = flops_per_clip(model, _batch(clips=3, frames=2, size=4))
    # 1x1 conv, C -> C channels: C * C multiply-adds per pixel; one clip = 2 frames
    assert flops['parts'] == pytest.approx({'visual_backbone': 2 * 16 * 9 / 1e9, 'audio_backbone': 2 * 96 * 64 / 1e9,
                                            'neck': 2 * 2 * 16 * 9 / 1e9})
    assert flops['total'] == pytest.approx(sum(flops['parts'].values()))


class Add(object):

    def __init__(self, clock, cost, drop=False):
        self.clock, self.cost, self.drop = clock, cost, drop

    def __call__(self, results):
        self.clock.now += self.cost
        return None if self.drop else dict(results, n=results.get('n', 0) + 1)


class Double(Add):
    pass


class FakeDataset:

    def __init__(self, transforms, size=3):
        self.pipeline = type('Compose', (), dict(transforms=transforms))()
        self.size = size

    def full_init(self):
        pass

    def __len__(self):
        return self.size

    def get_data_info(self, i):
        return dict(index=i)


def test_pipeline_throughput_by_transform(clock):
    dataset = FakeDataset([Add(clock, 0.002), Double(clock, 0.008), Add(clock, 0.010)])
    result = pipeline_throughput(dataset, num_clips=5, warmup=2)
    assert result['clips'] == 5 and result['ms_per_clip'] == pytest.approx(20.0)
    assert result['clips_per_s'] == pytest.approx(50.0)
    assert result['transforms'] == pytest.approx({'get_data_info': 0.0, 'Add': 12.0, 'Double': 8.0})
    with pytest.raises(ValueError, match='Double dropped clip 0'):
        pipeline_throughput(FakeDataset([Add(clock, 0.0), Double(clock, 0.0, drop=True)]), num_clips=1, warmup=0)
    with pytest.raises(ValueError, match='num_clips'):
        pipeline_throughput(dataset, num_clips=0)


def _tool():
    path = osp.join(REPO, 'tools/analysis_tools/benchmark.py')
    spec = importlib.util.spec_from_file_location('_benchmark_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_on_the_small_baseline_at_its_own_input_size(tmp_path):
    from mmavs.registry import MODELS
    from mmavs.utils import register_all_modules
    config = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py')
    out = tmp_path / 'bench.json'
    results = _tool().main([config, '--frame-size', '32', '--clips', '1', '--steps', '1', '--warmup', '1',
                            '--data-clips', '2', '--amp', 'bf16', '--out', str(out)])
    assert json.loads(out.read_text()) == results
    r = results[0]
    assert r['input'] == [5, 3, 64, 64]  # the config's test pipeline resizes the 32 px frames to 64
    register_all_modules()
    model = MODELS.build(Config.fromfile(config).model)
    assert r['params']['total'] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    assert r['params']['trainable'] == pytest.approx(
        sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6)
    assert set(r['flops']['parts']) >= {'audio_backbone', 'visual_backbone', 'neck', 'decoder'}
    assert r['flops']['total'] >= sum(r['flops']['parts'].values()) * 0.999
    assert r['amp'] == 'bf16' and 'needs CUDA' in r['train_amp']  # CPU: bf16 inference, fp32 training
    assert r['train']['batch_size'] == 4  # the config's train_dataloader.batch_size
    assert set(r['inference']['parts']) == {'preprocessor', 'audio backbone', 'visual backbone', 'neck', 'decoder',
                                            'losses', 'other'}
    rates = r['inference']['rates']
    assert set(rates['gflops']) == {'audio backbone', 'visual backbone', 'neck', 'decoder'}
    assert sum(rates['gflops'].values()) == pytest.approx(sum(r['flops']['parts'].values()))
    assert rates['dense']['peak'] == max(rates['dense']['matmul'], rates['dense']['conv']) > 0
    assert rates['ratio_at_peak'] > 1
    assert list(r['data']['train']['transforms']) == ['get_data_info', 'LoadClipFrames', 'LoadClipMasks',
                                                      'LoadClipAudio', 'ClipResize', 'PackAVSInputs']


def test_tool_bad_arguments(tmp_path, capsys):
    tool = _tool()
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / 'missing.py')])
    assert 'missing.py' in capsys.readouterr().err
    config = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py')
    with pytest.raises(SystemExit):
        tool.main([config, '--data', str(tmp_path / 'nowhere')])
    assert 'not a folder' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='fp16 needs CUDA'):
        tool.main([config, '--amp', 'fp16', '--no-train', '--no-flops', '--clips', '1', '--frame-size', '32'])


class Attend(nn.Module):

    def forward(self, q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def test_sdpa_flops_are_counted():
    from mmengine.analysis import FlopAnalyzer

    from mmavs.apis.benchmark.model import sdpa_flop_jit
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    analyzer = FlopAnalyzer(Attend(), (q, k, v)).set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    assert analyzer.total() == 2 * 3 * 5 * 7 * (8 + 4)  # Q K^T: 5 x 7 dot products of 8; A V: 5 x 4 of 7


def test_part_flops_groups_children_into_the_timed_parts():
    from mmavs.apis.benchmark import part_flops
    flops = part_flops({'visual_backbone': 50.0, 'text_encoder': 6.0, 'text_resampler': 0.5, 'neck': 20.0})
    assert flops == {'visual backbone': 50.0, 'text': 6.5, 'neck': 20.0}
    # a custom segmentor's extra child is not hooked: its time and its FLOPs are both 'other'
    assert part_flops({'neck': 1.0, 'adapter': 2.0, 'head.0': 0.5}) == {'neck': 1.0, 'other': 2.5}


def test_inference_rates_and_the_ratio_at_the_ceiling():
    from mmavs.apis.benchmark import inference_rates
    rates = inference_rates({'visual_backbone': 60.0, 'neck': 20.0, 'decoder': 20.0},
                            {'visual backbone': 0.5, 'neck': 0.2, 'decoder': 0.4, 'other': 0.01},
                            dense=dict(matmul=100.0, conv=200.0, peak=200.0))
    assert rates['gflops_per_s'] == pytest.approx({'visual backbone': 120.0, 'neck': 100.0, 'decoder': 50.0})
    # the 40 non-backbone GFLOPs take at least 40 / 200 = 0.2 s next to the 0.5 s backbone
    assert rates['ratio_at_peak'] == pytest.approx(1.4)
    assert 'ratio_at_peak' not in inference_rates({'neck': 1.0}, {'neck': 0.1}, dense=dict(peak=200.0))


class Costly:
    """Stand-in for a dense primitive that costs ``cost`` seconds on the fake clock per call."""

    def __init__(self, clock, fn, cost) -> None:
        self.clock, self.fn, self.cost, self.calls = clock, fn, cost, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.clock.now += self.cost
        return self.fn(*args, **kwargs)


def test_dense_peak_counts_one_multiply_add_per_flop(monkeypatch):
    from mmavs.apis.benchmark import rates as rates_module
    fake = FakeClock()
    monkeypatch.setattr(rates_module.time, 'perf_counter', fake.perf_counter)
    mm = Costly(fake, torch.mm, 0.5)
    conv = Costly(fake, torch.nn.functional.conv2d, 2.0)
    monkeypatch.setattr(rates_module.torch, 'mm', mm)
    monkeypatch.setattr(rates_module.F, 'conv2d', conv)
    dense = rates_module.dense_peak_gflops(torch.device('cpu'), size=100, repeats=3)
    assert mm.calls == conv.calls == 4  # one untimed each
    assert dense['matmul'] == pytest.approx(100**3 / 0.5 / 1e9)
    # 4 maps of 56 x 56 output pixels, each 256 outputs of 256 x 9 multiply-adds
    assert dense['conv'] == pytest.approx(4 * 56 * 56 * 256 * 256 * 9 / 2.0 / 1e9)
    assert dense['peak'] == dense['conv']
