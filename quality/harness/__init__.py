"""The pytest side: the plugin, its ephemeral workspaces, the build shared by xdist workers, raw fixture data and the `gx` fixture."""
