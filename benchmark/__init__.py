"""Simulation, tasks, policies and evaluation of manipulation policies in twins."""
