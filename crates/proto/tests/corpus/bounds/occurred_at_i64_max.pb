
evt-touch-1ÿÿÿÿÿÿÿÿ¨óîÅÊ3"web‚.
p-1
webinar-q1 *recording-q12	analytics