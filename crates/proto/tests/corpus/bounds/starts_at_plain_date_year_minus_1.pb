
evt-campaign-1€˜®é¸3â¡®é¸3"marketoRn

webinar-q1Q1 product webinarevents"webinar*
newsletter2WQ18Bevents-2026H€è©ÊãíñÿÿPÿÿÛ²Ô3Z	àÆ[EUR