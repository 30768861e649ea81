// frank: counts his packets.  Tally without SHARED keeps its count to itself: it runs in the kernel.
FromDevice(eth1) -> Tally -> Queue(100) -> ToDevice(eth1);
