// alice: marks her IP traffic with DSCP 10 and sends each frame back to where it came from.
// A Counter that calls a handler (COUNT_CALL, here at a count never reached) is certified for user
// space only: it runs in alice's container (as in every network: the scenario reads each container's
// counter), and the IP header CheckIPHeader found in the kernel must still be there after it.
FromDevice(eth1)
  -> c :: Classifier(12/0800, -)
  -> Strip(14)
  -> CheckIPHeader
  -> seen :: AverageCounter
  -> SetIPDSCP(10)
  -> cnt :: Counter(COUNT_CALL 1000000000 cnt.reset)
  -> SetIPChecksum
  -> Unstrip(14)
  -> EtherMirror
  -> Queue
  -> ToDevice(eth1);
c[1] -> Discard;
