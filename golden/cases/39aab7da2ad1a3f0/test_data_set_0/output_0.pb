
Boutput_0J%º