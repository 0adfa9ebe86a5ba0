
Boutput_0J›=ƒ9