// alice: a virtual Ethernet bridge between her two virtual devices, with a
// per-port counter and a queue on each side.  A compound element wraps the
// queueing so that both directions share one definition.
define($BURST 8);

elementclass Egress { $dev |
  input -> Queue(200) -> ToDevice($dev, BURST $BURST);
}

elementclass Port { $dev |
  FromDevice($dev, BURST $BURST) -> c :: Counter -> output;
}

p1 :: Port(eth1);
p2 :: Port(eth2);
p1 -> EtherMirror -> Egress(eth2);
p2 -> EtherMirror -> Egress(eth1);
