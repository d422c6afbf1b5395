"""MuJoCo worlds: headless rendering, the Panda arm, scene specs and their composition."""
