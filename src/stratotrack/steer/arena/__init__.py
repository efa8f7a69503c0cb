"""The station-keeping arena: the episodes of Google's Balloon Learning Environment (BLE) flown without JAX.

:mod:`.wind` holds BLE's wind model (the VAE decoder in NumPy and the simplex noise of the true wind).
"""
