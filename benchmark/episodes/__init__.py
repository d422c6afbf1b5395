"""Episodes: the Gymnasium env over a twin (``env``) and one recorded rollout of a policy in it
(``episode``)."""
