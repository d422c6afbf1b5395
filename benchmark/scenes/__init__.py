"""Reference scenes and their demonstrations: the scene registry (``registry``), hand-authored
scenes packaged as twins (``authored``), one expert rollout (``rollout``), the recorder
(``recording``) and twin builds scored against ground truth (``twins``)."""
