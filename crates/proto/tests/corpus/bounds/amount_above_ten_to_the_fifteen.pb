
	evt-opp-1€¦è¾Ä3Ğµè¾Ä3"
salesforceŠ_
opp-1acc-1Analytics platform"prospecting*€š¦ê¯ãUSD08€°Í®ñ3Bp-1Jrep-8R	partner-3