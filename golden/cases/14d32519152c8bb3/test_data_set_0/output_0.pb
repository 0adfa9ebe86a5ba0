
Boutput_0JÑ½»¹„;H: