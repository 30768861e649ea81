// bob: IP inside GRE without a key; counts in his container, decrements the TTL in the kernel.
FromDevice(eth1)
  -> CheckIPHeader
  -> cnt :: Counter
  -> dec :: DecIPTTL
  -> seen :: AverageCounter
  -> Queue
  -> ToDevice(eth1);
dec[1] -> Discard;
