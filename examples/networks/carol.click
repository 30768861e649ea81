// carol: an IP tunnel endpoint (her virtual device carries IP packets, not
// Ethernet frames): check headers, count, and send back what arrives.
FromDevice(eth1)
  -> CheckIPHeader
  -> c :: Counter
  -> Queue(50)
  -> ToDevice(eth1);
