"""Policies: the protocol (``protocol``), built-in policies (``builtin``, ``perception``), specs to
running policies (``loaders``), isolated workers (``worker``, ``wire``), the openpi server and
client (``remote``), submissions (``submissions``), built-in architectures and behaviour cloning
(``architectures``, ``training``)."""
