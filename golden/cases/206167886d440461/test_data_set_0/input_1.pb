
Bw0_scaleJÅ:°:ª½