// grace: counts her packets into the tally shared by every Tally (SHARED true): a static, mutable global
// state, so this instance runs in her container.
FromDevice(eth1) -> t :: Tally(SHARED true) -> Queue(100) -> ToDevice(eth1);
