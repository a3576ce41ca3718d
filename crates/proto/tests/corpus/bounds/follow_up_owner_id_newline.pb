
evt-fu-1€âàÀÂ3à‰óÀÂ3"crmz-
p-1left a voicemail €Ò““Ã3*rep-7
rep-8