// carol: answers UDP with the destination address also written as the source: the destination
// IP annotation CheckIPHeader sets in the kernel crosses to her container (IPClassifier) and back
// to the kernel, where StoreIPAddress reads it.
FromDevice(eth1)
  -> Strip(14)
  -> CheckIPHeader
  -> seen :: AverageCounter
  -> ipc :: IPClassifier(udp, -)
  -> StoreIPAddress(12)
  -> cnt :: Counter(COUNT_CALL 1000000000 cnt.reset)
  -> SetIPChecksum
  -> Unstrip(14)
  -> EtherMirror
  -> Queue
  -> ToDevice(eth1);
ipc[1] -> Discard;
