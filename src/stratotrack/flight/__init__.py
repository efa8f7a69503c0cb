"""Vertical motion and flight profiles: stages, terminators, balloon physics."""

from .profiles import MODELS, TERMINATORS, Profile, Stage, drift, float_profile, standard

__all__ = ["Profile", "Stage", "standard", "float_profile", "drift", "MODELS", "TERMINATORS"]
