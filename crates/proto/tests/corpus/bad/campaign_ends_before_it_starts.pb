
evt-campaign-1€˜®é¸3â¡®é¸3"marketoRj

webinar-q1Q1 product webinarevents"webinar*
newsletter2WQ18Bevents-2026H€ÈÏ©º3P€˜Ñ·3Z	àÆ[EUR