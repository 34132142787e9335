"""Prop. 1 of the supplement and its proof."""
