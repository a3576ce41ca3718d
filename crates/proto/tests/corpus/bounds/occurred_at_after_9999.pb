
evt-touch-1€¸ÿıÎ9¨óîÅÊ3"web‚.
p-1
webinar-q1 *recording-q12	analytics