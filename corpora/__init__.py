"""Corpus builders behind `nmt prepare`: the Bible corpus, the synthetic pronoun set, and the contrastive sets.

They write the files training and evaluation read; the model core never imports them.
"""
