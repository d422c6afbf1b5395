"""Simulation on top of :mod:`twin.scene`: action spaces (``actions``), controllers and IK
(``control``), task predicates (``tasks``), the privileged scripted expert (``expert``), the
camera sensor model (``sensor``) and the PyBullet backend (``bullet_world``)."""
