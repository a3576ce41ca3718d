
	evt-acc-1 Ñä¾Ä3 Ñä¾Ä3"
salesforceªB
acc-1Analytical Engines Ltdmanufacturing"rep-8*acc-group-1