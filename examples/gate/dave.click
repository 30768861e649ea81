// dave: guards against short frames and taps his traffic (FlowTap runs in his container).
FromDevice(eth1) -> TTLGuard -> FlowTap -> Queue(100) -> ToDevice(eth1);
