
	evt-acc-1 Ñä¾Ä3 Ñä¾Ä3"
salesforceªA
acc-1Analytical Engines Ltdmanufacturing"rep*acc-group-1