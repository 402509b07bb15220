"""The `nmt` command: assembles the translator, training, evaluation and server packages' commands.

The top layer: it imports them all and nothing imports it.
"""
