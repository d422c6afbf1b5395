"""Validity studies: does a twin rank policies the way its source world does?

``metrics`` (Pearson r, SIMPLER's MMRV, Kendall τ, bootstrap intervals), ``reference`` (the
proxy-real reference world and its honesty checks), ``study`` (both worlds' campaigns and the
comparison), ``ablation`` (which twin stage is to blame), ``command`` (``twinarena validate``).
"""
