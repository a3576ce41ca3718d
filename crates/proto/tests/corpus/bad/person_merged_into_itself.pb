
evt-merge-1€èô†Å3€èô†Å3"crmº
p-1p-1same e-mail address