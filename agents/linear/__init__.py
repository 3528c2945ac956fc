"""Model-based imitation on a game's :class:`~mail_envs.core.TabularMarkovGame`.

* :mod:`~agents.linear.problem` — the model-based view of an
  :class:`~agents.imitation.ImitationProblem` (build one from a model, check one);
* :mod:`~agents.linear.rollouts` — episodes on the model and the expert labels
  (:class:`~mail_wrappers.recorder.ExpertLabelDataset`) they give;
* :mod:`~agents.linear.features` — feature maps ``phi(s, a)``;
* :mod:`~agents.linear.softmax` — softmax-linear behaviour cloning;
* :mod:`~agents.linear.baselines` — uniform-exploration and expert self-play BC
  (:func:`~agents.linear.baselines.model_bc`);
* :mod:`~agents.linear.lsvi_ucb_zero` — LSVI-UCB-ZERO and LSVI-UCB-ZERO-BC.
"""
