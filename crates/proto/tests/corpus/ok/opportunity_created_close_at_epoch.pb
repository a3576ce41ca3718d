
	evt-opp-1€¦è¾Ä3Ðµè¾Ä3"
salesforceŠT
opp-1acc-1Analytics platform"prospecting*
€ü¤USD0Bp-1Jrep-8R	partner-3