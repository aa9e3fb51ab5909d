"""Register every mmavs module and set the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all mmavs modules so that they register into the mmavs registries.

    Args:
        init_default_scope (bool): Whether to set ``mmavs`` as the default scope. If another scope is
            current, a new ``mmavs`` scope instance is created. Defaults to True.
    """
    import mmavs.datasets  # noqa: F401,F403
    import mmavs.engine  # noqa: F401,F403
    import mmavs.evaluation  # noqa: F401,F403
    import mmavs.models  # noqa: F401,F403
    import mmavs.structures  # noqa: F401,F403
    import mmavs.visualization  # noqa: F401,F403

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmavs')
    if never_created:
        DefaultScope.get_instance('mmavs', scope_name='mmavs')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmavs':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmavs", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmavs". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_instance_name = f'mmavs-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmavs')
