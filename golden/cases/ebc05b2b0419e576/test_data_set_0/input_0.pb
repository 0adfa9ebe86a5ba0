Binput_0Jй└
┐Я┬F┐лкк>