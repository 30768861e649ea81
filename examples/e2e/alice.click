// alice: marks her IP traffic with DSCP 10 and sends each frame back to where it came from.
// SetIPDSCP and Counter are certified for user space only: they run in alice's container, and
// the IP header CheckIPHeader found in the kernel must still be there when SetIPDSCP runs.
FromDevice(eth1)
  -> c :: Classifier(12/0800, -)
  -> Strip(14)
  -> CheckIPHeader
  -> seen :: AverageCounter
  -> SetIPDSCP(10)
  -> cnt :: Counter
  -> SetIPChecksum
  -> Unstrip(14)
  -> EtherMirror
  -> Queue
  -> ToDevice(eth1);
c[1] -> Discard;
