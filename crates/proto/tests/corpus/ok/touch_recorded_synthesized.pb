
import/touch/L-1/legacy-web€à³´“-¨óîÅÊ3"touchline.import‚3
L-1
legacy-web :legacy lead_source field