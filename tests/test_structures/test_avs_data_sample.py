"""Tests of AVSDataSample's typed tensor fields and the split between data and metainfo."""
import pytest
import torch

from mmavs.structures import AVSDataSample

T, C, H, W = 3, 2, 4, 5


def _values():
    """A valid value of every tensor field."""
    return dict(
        gt_masks=torch.randint(0, 2, (T, H, W)),
        frame_flags=torch.tensor([True, True, False]),
        gt_flags=torch.tensor([True, False, False]),
        blank_flags=torch.tensor([False, False, True]),
        pred_logits=torch.randn(T, C, H, W),
        pred_masks=torch.randint(0, C, (T, H, W)).to(torch.uint8))


def test_the_typed_fields_are_the_documented_ones():
    assert set(AVSDataSample.TENSOR_FIELDS) == {'gt_masks', 'frame_flags', 'gt_flags', 'blank_flags',
                                                'pred_logits', 'pred_masks'}
    shapes = {name: field.shape for name, field in AVSDataSample.TENSOR_FIELDS.items()}
    assert shapes == dict(gt_masks='[T, H, W]', frame_flags='[T]', gt_flags='[T]', blank_flags='[T]',
                          pred_logits='[T, C, H, W]', pred_masks='[T, H, W]')
    assert [AVSDataSample.TENSOR_FIELDS[n].ndim for n in ('frame_flags', 'gt_masks', 'pred_logits')] == [
        1, 3, 4]
    assert all(isinstance(getattr(AVSDataSample, name), property) for name in AVSDataSample.TENSOR_FIELDS)


@pytest.mark.parametrize('name', sorted(_values()))
def test_field_round_trip_is_data_under_its_public_name(name):
    value = _values()[name]
    sample = AVSDataSample(metainfo=dict(vid='v'))
    setattr(sample, name, value)
    assert getattr(sample, name) is value and sample.get(name) is value
    assert tuple(getattr(sample, name).shape) == tuple(value.shape)
    assert name in sample and sample.keys() == [name]
    assert name not in sample.metainfo and sample.metainfo_keys() == ['vid']
    assert set(sample.to_dict()) == {'vid', name}
    delattr(sample, name)
    assert name not in sample and sample.keys() == [] and sample.get(name) is None
    with pytest.raises(AttributeError, match=name):
        getattr(sample, name)


def test_constructor_set_data_and_set_field_go_through_the_properties():
    values = _values()
    by_init = AVSDataSample(metainfo=dict(vid='a', num_frames=T), **values)
    by_set_data = AVSDataSample()
    by_set_data.set_data(values)
    by_set_field = AVSDataSample()
    for name, value in values.items():
        by_set_field.set_field(value, name)
    for sample in (by_init, by_set_data, by_set_field):
        assert sorted(sample.keys()) == sorted(values)
        assert all(getattr(sample, name) is value for name, value in values.items())
    assert by_init.metainfo == dict(vid='a', num_frames=T)


@pytest.mark.parametrize('name,bad,error,words', [
    ('gt_masks', [[0, 1]], TypeError, 'AVSDataSample.gt_masks must be a torch.Tensor [T, H, W], got list'),
    ('gt_flags', None, TypeError, 'AVSDataSample.gt_flags must be a torch.Tensor [T], got NoneType'),
    ('frame_flags', torch.ones(T, dtype=torch.long), TypeError,
     'AVSDataSample.frame_flags must have a bool dtype, got torch.int64'),
    ('gt_masks', torch.zeros(T, H, W), TypeError,
     'gt_masks must have an integer (not bool) dtype, got torch.float32'),
    ('pred_masks', torch.zeros(T, H, W, dtype=torch.bool), TypeError,
     'pred_masks must have an integer (not bool) dtype'),
    ('pred_logits', torch.zeros(T, C, H, W, dtype=torch.long), TypeError,
     'pred_logits must have a floating-point dtype, got torch.int64'),
    ('pred_logits', torch.zeros(T, H, W), ValueError,
     'AVSDataSample.pred_logits must be [T, C, H, W], got shape [3, 4, 5]'),
    ('frame_flags', torch.ones(1, T, dtype=torch.bool), ValueError, 'frame_flags must be [T], got shape [1, 3]'),
])
def test_setters_reject_wrong_values_and_store_nothing(name, bad, error, words):
    sample = AVSDataSample(**{k: v for k, v in _values().items() if k != name})
    before = sorted(sample.keys())
    with pytest.raises(error) as err:
        setattr(sample, name, bad)
    assert words in str(err.value)
    with pytest.raises(error):
        AVSDataSample(**{name: bad})
    # a rejected value leaves no trace: the sample still converts and lists what it had
    assert name not in sample and sorted(sample.keys()) == before
    assert set(sample.to_dict()) == set(before)


def test_tensor_fields_cannot_be_metainfo_and_metainfo_stays_plain():
    captions = dict(video='v', segments=['s'], frames=['f'] * T, frame_segment=[0] * T)
    sample = AVSDataSample(metainfo=dict(vid='v1', num_frames=T, img_shape=(H, W), captions=captions))
    assert sample.keys() == [] and sample.num_frames == T and sample.captions == captions
    with pytest.raises(AttributeError, match='"gt_flags" is a data field \\[T\\], not metainfo'):
        sample.set_metainfo(dict(gt_flags=torch.ones(T, dtype=torch.bool)))
    assert 'gt_flags' not in sample and 'gt_flags' not in sample.metainfo


def test_pop_of_a_tensor_field():
    values = _values()
    sample = AVSDataSample(metainfo=dict(vid='v'), **values)
    assert sample.pop('gt_masks') is values['gt_masks']
    assert 'gt_masks' not in sample and sample.get('gt_masks') is None
    assert sample.pop('gt_masks', 'gone') == 'gone'
    assert sample.pop('vid') == 'v'  # metainfo pops as in BaseDataElement
    with pytest.raises(KeyError):
        sample.pop('gt_masks')


def test_new_clone_to_keep_the_fields_and_numpy_is_refused():
    values = _values()
    sample = AVSDataSample(metainfo=dict(vid='v'), **values)
    for copy in (sample.clone(), sample.new(), sample.to('cpu'), sample.cpu(), sample.detach()):
        assert type(copy) is AVSDataSample and copy.metainfo == dict(vid='v')
        assert sorted(copy.keys()) == sorted(values)
        assert all(torch.equal(getattr(copy, k), v) for k, v in values.items())
    changed = sample.new(gt_flags=torch.ones(T, dtype=torch.bool))
    assert changed.keys() == ['gt_flags'] and changed.gt_flags.all()
    with pytest.raises(TypeError, match='must be a torch.Tensor'):
        sample.numpy()
