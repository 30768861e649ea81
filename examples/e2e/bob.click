// bob: IP inside GRE without a key; counts in his container (a Counter given COUNT_CALL is certified
// for user space only), decrements the TTL in the kernel.
FromDevice(eth1)
  -> CheckIPHeader
  -> cnt :: Counter(COUNT_CALL 1000000000 cnt.reset)
  -> dec :: DecIPTTL
  -> seen :: AverageCounter
  -> Queue
  -> ToDevice(eth1);
dec[1] -> Discard;
