"""The scenario catalog: one module per scenario (``app_link_drop`` → ``app-link-drop``).

List them with :func:`wsquake.scenarios.loader.catalog_names`.
"""
