"""Feed crafted checkpoint files to every mmavs entry point that reads checkpoints (run in a subprocess).

Usage: ``python tests/data/untrusted_probe.py SPEC.json`` where the spec lists
``{"entry": ..., "file": ..., "marker": ...}`` items plus ``"config"``, ``"data_root"`` and ``"work_dir"``.
Prints one JSON line: for each item, the exception it raised (or null) and whether its marker exists.
"""
import importlib.util
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(relpath: str):
    spec = importlib.util.spec_from_file_location(relpath.replace('/', '_')[:-3], osp.join(REPO, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data_opts(data_root: str) -> list:
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False', f'{loader}.batch_size=2']
    return opts + ['train_cfg.max_epochs=1']


def run_entry(entry: str, path: str, spec: dict) -> None:
    import torch
    from torch import nn
    if entry == 'plain_torch_load':  # the control: what an unprotected loader does with the file
        torch.load(path)
        return
    import mmavs  # noqa: F401  (installs the weights-only loading)
    work_dir = osp.join(spec['work_dir'], entry)
    if entry.startswith('converter_'):
        _tool(f'tools/model_converters/{entry[len("converter_"):]}.py').main([path, osp.join(work_dir, 'o.pth')])
    elif entry == 'mmavs_init_cfg':
        from mmavs.models.text import CLIPCaptionEncoder
        CLIPCaptionEncoder(width=8, layers=1, heads=1, vocab_size=16, context_length=4, embed_dim=4,
                           init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    elif entry == 'mmengine_pretrained_init':
        from mmengine.model.weight_init import PretrainedInit
        PretrainedInit(checkpoint=path)(nn.Linear(2, 2))
    elif entry == 'mmengine_load_checkpoint':
        from mmengine.runner import load_checkpoint
        load_checkpoint(nn.Linear(2, 2), path)
    elif entry == 'test_tool':
        _tool('tools/test.py').main([spec['config'], path, '--work-dir', work_dir, '--cfg-options',
                                     *_data_opts(spec['data_root'])])
    elif entry == 'train_resume':
        _tool('tools/train.py').main([spec['config'], '--resume', path, '--work-dir', work_dir,
                                      '--cfg-options', *_data_opts(spec['data_root'])])
    elif entry == 'train_load_from':
        _tool('tools/train.py').main([spec['config'], '--work-dir', work_dir, '--cfg-options',
                                      f'load_from={path}', *_data_opts(spec['data_root'])])
    else:
        raise KeyError(f'unknown entry {entry}')


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    results = []
    for item in spec['items']:
        try:
            run_entry(item['entry'], item['file'], spec)
            error = None
        except BaseException as err:  # noqa: B902  (SystemExit included: a tool may exit)
            error = f'{type(err).__name__}: {err}'
        results.append(dict(item, error=error, executed=osp.exists(item['marker'])))
    print(json.dumps(results))


if __name__ == '__main__':
    main()
