

evt-cost-1€ôËÈÁ3€ôËÈÁ3"
accountingZ5

webinar-q1Ø¼şÿÿÿÿÿÿEURrefund from the venue