"""The noise modes a face can be rendered with, named once for the recipe, the networks,
the command line and the studio.

``const``: the network's stored noise buffers (deterministic, the default); ``random``:
fresh noise every render; ``none``: no noise at all.
"""

NOISE_MODES = ("const", "random", "none")
