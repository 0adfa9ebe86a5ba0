
Boutput_0J³D