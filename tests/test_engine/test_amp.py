"""amp_optim_wrapper: OptimWrapper -> AmpOptimWrapper, the dtype names, what it refuses."""
import pytest

from mmavs.engine import amp_optim_wrapper


def test_converts_and_keeps_the_rest():
    wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3), clip_grad=None)
    out = amp_optim_wrapper(wrapper, 'bf16')
    assert out == dict(type='AmpOptimWrapper', optimizer=dict(type='AdamW', lr=1e-3), clip_grad=None,
                       loss_scale='dynamic', dtype='bfloat16')
    assert wrapper['type'] == 'OptimWrapper'  # a copy
    assert amp_optim_wrapper(wrapper)['type'] == 'AmpOptimWrapper' and 'dtype' not in amp_optim_wrapper(wrapper)


def test_an_amp_config_keeps_its_dtype_and_scale_unless_asked():
    wrapper = dict(type='AmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1), dtype='bfloat16', loss_scale=512.)
    assert amp_optim_wrapper(wrapper) == wrapper
    assert amp_optim_wrapper(wrapper, 'fp16')['dtype'] == 'float16'


def test_refuses_other_wrappers_and_dtypes():
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        amp_optim_wrapper(dict(type='ApexOptimWrapper'))
    with pytest.raises(ValueError, match="'fp8'"):
        amp_optim_wrapper(dict(type='OptimWrapper'), 'fp8')
