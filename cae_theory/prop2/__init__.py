"""Prop. 2 of the supplement and its proof, one module per part of the proof."""
