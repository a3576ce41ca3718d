
evt-fu-2€âàÀÂ3à‰óÀÂ3"crmz,
p-1line one
line two	indented
*rep-7